"""Logging filters."""

import logging


class ClientErrorsWithoutTraceback(logging.Filter):
    """A 4xx answer is the client's doing: log its one line, not the traceback of the
    exception (PermissionDenied, Http404) that produced it."""

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if status is not None and status < 500:
            record.exc_info = None
            record.exc_text = None
        return True
