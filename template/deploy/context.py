"""What a command handler gets: ``handler(ctx) -> int | None``.

``ctx.args``: the parsed argparse namespace. ``ctx.lock``: deploy.lock.Lock (loaded on first use).
``ctx.aws``: deploy.aws.Aws for the lock's region (made on first use, with the session the caller
passed to deploy.__main__.main, else a default boto3 Session). ``ctx.project_dir``: the folder
holding model.lock.json. ``ctx.poll_seconds``: DEPLOY_POLL_SECONDS (default 30).
``ctx.sleep(seconds)``: time.sleep, replaceable by tests through main(sleep=...).
"""
from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any, Callable

from .errors import die


class Context:
    def __init__(self, args: Any, session=None, sleep: Callable[[float], None] | None = None) -> None:
        self.args = args
        self._session = session
        self._lock = None
        self._aws = None
        self.sleep = sleep or time.sleep

    @property
    def lock(self):
        if self._lock is None:
            from .lock import Lock

            self._lock = Lock.load()
        return self._lock

    @property
    def aws(self):
        if self._aws is None:
            from .aws import Aws

            self._aws = Aws(self.lock.region, session=self._session)
        return self._aws

    @property
    def project_dir(self) -> Path:
        return self.lock.path.parent

    @property
    def poll_seconds(self) -> int:
        raw = os.environ.get("DEPLOY_POLL_SECONDS", "30")
        if not raw.isdigit() or int(raw) < 1:
            die(f"DEPLOY_POLL_SECONDS wants whole seconds, got {raw!r}")
        return int(raw)
