"""Settings for the test suite: the project's own, with a fast password hasher."""

from config.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # A file, not shared-cache memory: concurrent connections then queue on the write
    # lock with a busy timeout, as they do in the embedded deployment.
    import os
    import tempfile
    from pathlib import Path

    DATABASES["default"]["TEST"] = {  # noqa: F405
        "NAME": str(Path(tempfile.gettempdir()) / f"fenghuo-test-{os.getpid()}.sqlite3")
    }

# Links in messages are asserted absolute against this address.
FENGHUO_BASE_URL = "http://127.0.0.1:8000"
