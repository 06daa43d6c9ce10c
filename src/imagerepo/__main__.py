"""`python -m imagerepo` is the `imagerepo` command."""

from imagerepo.cli import main

if __name__ == "__main__":
    main()
