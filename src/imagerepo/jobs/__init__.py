"""Job queues: the interface (`base`), the in-process queue (`local`) and the PostgreSQL engine's
adapter (`postgres_queue`, procrastinate). They know image ids and nothing else of images: what a
job does is `services.processing`."""
