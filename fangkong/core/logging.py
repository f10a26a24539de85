"""Log redaction: a safety net so no clear ID number or phone reaches a log file.

Code must not log personal data in the first place; this filter catches mistakes
(an exception message quoting a form value, a debug line) before they are written.
"""

from __future__ import annotations

import logging

from fangkong.core.masking import mask_personal


def redact(text: str) -> str:
    """ID- and phone-shaped numbers masked, however they are typed (`core.masking`)."""
    return mask_personal(text)


class RedactPersonalDataFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact(message)
        if redacted != message:
            record.msg = redacted
            record.args = ()
        if record.exc_info and record.exc_info[1] is not None:
            # Pre-format the traceback so its text passes through the filter too.
            formatted = logging.Formatter().formatException(record.exc_info)
            record.exc_text = redact(formatted)
        return True
