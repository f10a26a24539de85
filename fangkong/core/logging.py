"""Log redaction: a safety net so no clear ID number or phone reaches a log file.

Code must not log personal data in the first place; this filter catches mistakes
(an exception message quoting a form value, a debug line) before they are written.
"""

from __future__ import annotations

import logging
import re

from fangkong.core.masking import mask_id_number, mask_phone

_ID = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")
_MOBILE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")


def redact(text: str) -> str:
    text = _ID.sub(lambda m: mask_id_number(m.group(0)), text)
    return _MOBILE.sub(lambda m: mask_phone(m.group(0)), text)


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
