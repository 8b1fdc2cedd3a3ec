"""The storage protocol every backend implements, and opening a backend by URL."""

from massreach.storage.protocol import Storage, StorageFactory

__all__ = ["Storage", "StorageFactory"]
