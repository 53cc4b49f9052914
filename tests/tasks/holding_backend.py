"""An email backend for the worker-killed test: it writes each email to a file, as Django's
file backend does, and stops for good before the email numbered HOLD_BEFORE_EMAIL (counting
the emails already written), once, after creating the file HOLD_MARKER. The test then kills
the worker at a known point: some emails sent and marked delivered, the rest not yet."""

import os
import time
from pathlib import Path

from django.core.mail.backends.filebased import EmailBackend as FileBackend


class EmailBackend(FileBackend):
    def send_messages(self, email_messages):
        hold_before = int(os.environ.get("HOLD_BEFORE_EMAIL", "0"))
        marker = Path(os.environ.get("HOLD_MARKER", "/nonexistent/held"))
        # Messages, not files: two connections may append to one file (same second, same id).
        written = sum(p.read_text().count("-" * 79) for p in Path(self.file_path).glob("*.log"))
        if hold_before and written == hold_before - 1 and not marker.exists():
            marker.touch()
            while True:  # until the test kills this process
                time.sleep(1)
        return super().send_messages(email_messages)
