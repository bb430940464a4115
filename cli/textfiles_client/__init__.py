"""Python client and `textfiles` command for the textfiles API (standard library only)."""

from textfiles_client.client import ApiError, Client
from textfiles_client.types import File, FileList, Health, Task, Upload, Usage

__version__ = "1.1.0"  # the package's version too (cli/pyproject.toml reads it from here)

__all__ = ["ApiError", "Client", "File", "FileList", "Health", "Task", "Upload", "Usage"]
