"""Blob storage: where image bytes live, behind the `BlobStore` protocol."""
