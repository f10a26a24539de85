"""Photos of the work: checked, re-encoded and attached to an order by its assignee.

Every photo is decoded and written out again as a plain JPEG. That drops what a phone
camera embeds (EXIF with the GPS position of someone's home, thumbnails, comments) and
anything a crafted file could smuggle in behind a valid header; it also shrinks a 4 MB
camera photo to about 200 KB, which matters for supervisors on a weak network.
"""

from __future__ import annotations

import io
import uuid
import warnings

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from fangkong.accounts.models import User
from fangkong.workorders.models import (
    OPEN_STATUSES,
    Action,
    Status,
    WorkOrder,
    WorkOrderEvent,
    WorkOrderPhoto,
)
from fangkong.workorders.services import Conflict

MAX_UPLOAD_BYTES = 12 * 1024 * 1024
MAX_PIXELS = 50_000_000  # a 50-megapixel phone camera; more is a decompression bomb
MAX_SIDE = 1600
MAX_PER_ORDER = 6
_MAGIC = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n")
# Photos may be added while the work is open and after the result, until it is verified.
PHOTO_STATUSES = (*OPEN_STATUSES, Status.DONE)


def _invalid(message: str) -> ValidationError:
    return ValidationError({"photo": message})


def reencode(raw: bytes) -> tuple[bytes, int, int]:
    """A clean JPEG of at most MAX_SIDE px a side, or a ValidationError saying why not."""
    if len(raw) > MAX_UPLOAD_BYTES:
        raise _invalid(_("The photo is larger than %(mb)d MB.") % {"mb": MAX_UPLOAD_BYTES >> 20})
    if not raw.startswith(_MAGIC):
        raise _invalid(_("Only JPEG or PNG photos can be attached."))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(raw)) as img:
                if img.format not in ("JPEG", "PNG"):
                    raise _invalid(_("Only JPEG or PNG photos can be attached."))
                # The header is read, the pixels not yet: refuse a bomb before decoding it.
                if img.width * img.height > MAX_PIXELS:
                    raise _invalid(_("The photo has too many pixels."))
                img.load()
                upright = ImageOps.exif_transpose(img)
                if upright.mode in ("RGBA", "LA", "P"):
                    upright = upright.convert("RGBA")
                    flat = Image.new("RGB", upright.size, "white")
                    flat.paste(upright, mask=upright.getchannel("A"))
                    upright = flat
                upright = upright.convert("RGB")
                upright.thumbnail((MAX_SIDE, MAX_SIDE))
                out = io.BytesIO()
                upright.save(out, "JPEG", quality=80, optimize=True)
                return out.getvalue(), upright.width, upright.height
    except ValidationError:
        raise
    except (
        OSError,
        SyntaxError,
        ValueError,
        UnidentifiedImageError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
    ):
        raise _invalid(_("The file is damaged or is not a photo.")) from None


def photo_add(
    *, order_id: int, actor: User, raw: bytes, client_id: uuid.UUID
) -> tuple[WorkOrderPhoto, bool]:
    """Attach a photo. Returns (photo, created); a retried upload with the same
    `client_id` returns the first one."""
    same = WorkOrderPhoto.objects.filter(client_id=client_id).first()
    if same is not None:
        if same.order_id != order_id:
            raise _invalid(_("This upload belongs to another order."))
        return same, False
    order = WorkOrder.objects.filter(pk=order_id).first()
    if order is None:
        raise WorkOrder.DoesNotExist
    if order.assignee_id != actor.pk:
        raise PermissionDenied
    if order.status not in PHOTO_STATUSES:
        raise Conflict(
            _("This order is already %(status)s.") % {"status": order.get_status_display()}
        )
    data, width, height = reencode(raw)
    try:
        with transaction.atomic():
            if WorkOrderPhoto.objects.filter(order=order).count() >= MAX_PER_ORDER:
                raise _invalid(_("An order holds at most %(n)d photos.") % {"n": MAX_PER_ORDER})
            photo = WorkOrderPhoto.objects.create(
                order=order,
                client_id=client_id,
                data=data,
                width=width,
                height=height,
                uploaded_by=actor,
            )
            WorkOrderEvent.objects.create(
                order=order,
                actor=actor,
                action=Action.PHOTO,
                from_status=order.status,
                to_status=order.status,
                data={"photo": photo.pk},
            )
    except IntegrityError:
        # A double tap that raced the first upload: the first one stands.
        return WorkOrderPhoto.objects.get(client_id=client_id, order_id=order_id), False
    return photo, True


def photos_of(order: WorkOrder) -> list[WorkOrderPhoto]:
    """The order's photos without their bytes (the page links to each)."""
    return list(WorkOrderPhoto.objects.filter(order=order).defer("data"))
