"""Photos on work orders: re-encoded without the camera's metadata, idempotent on retry,
refused when they are not photos, seen only by whoever may see the order."""

from __future__ import annotations

import io
import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation
from PIL import Image

from fangkong.workorders import photos, services
from fangkong.workorders.models import Action, Status, WorkOrderEvent, WorkOrderPhoto
from tests.world import ensure_orders

pytestmark = pytest.mark.django_db

GPS_IFD = 0x8825
ORIENTATION = 0x0112


def camera_jpeg(width: int = 3000, height: int = 2000, *, rotate: bool = False) -> bytes:
    """A phone-camera-like JPEG: EXIF with a GPS position and (optionally) 'rotate 90°'."""
    img = Image.new("RGB", (width, height), (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif.get_ifd(GPS_IFD).update({1: "N", 2: (28.0, 12.0, 30.0), 3: "E", 4: (112.0, 58.0, 1.0)})
    if rotate:
        exif[ORIENTATION] = 6  # the camera was held upright: show rotated 90° clockwise
    out = io.BytesIO()
    img.save(out, "JPEG", exif=exif.tobytes(), quality=90)
    return out.getvalue()


def upload(client, order, data: bytes, *, client_id=None, name="p.jpg", htmx=True):
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    return client.post(
        f"/tasks/{order.pk}/photos/",
        {
            "photo": SimpleUploadedFile(name, data, "image/jpeg"),
            "client_id": str(client_id or uuid.uuid4()),
        },
        **headers,
    )


@pytest.fixture
def order(world):
    ensure_orders(world)
    return world.orders["A1M1"]  # assigned to gw_a1


def test_a_camera_photo_is_stored_upright_small_and_without_its_gps(world, login, order):
    client = login("gw_a1")
    response = upload(client, order, camera_jpeg(rotate=True))
    assert response.status_code == 200
    (photo,) = WorkOrderPhoto.objects.filter(order=order)
    stored = Image.open(io.BytesIO(bytes(photo.data)))
    assert stored.format == "JPEG"
    # Rotated by its orientation tag, then shrunk to 1600 px on the long side.
    assert (stored.width, stored.height) == (photo.width, photo.height) == (1067, 1600)
    exif = stored.getexif()
    assert not exif.get_ifd(GPS_IFD) and 0x010F not in exif and ORIENTATION not in exif
    assert len(photo.data) < 200_000
    assert f"/tasks/photos/{photo.pk}/".encode() in response.content
    assert WorkOrderEvent.objects.filter(order=order, action=Action.PHOTO).count() == 1
    # The image itself is served to the assignee with a strict type.
    shown = client.get(f"/tasks/photos/{photo.pk}/")
    assert shown.status_code == 200 and shown["Content-Type"] == "image/jpeg"
    assert shown["X-Content-Type-Options"] == "nosniff"
    assert bytes(shown.content) == bytes(photo.data)


def test_a_transparent_png_is_flattened_onto_white(world, login, order):
    img = Image.new("RGBA", (40, 30), (0, 0, 0, 0))
    out = io.BytesIO()
    img.save(out, "PNG")
    assert upload(login("gw_a1"), order, out.getvalue(), name="p.png").status_code == 200
    stored = Image.open(io.BytesIO(bytes(WorkOrderPhoto.objects.get(order=order).data)))
    pixel = stored.getpixel((5, 5))
    assert stored.mode == "RGB" and isinstance(pixel, tuple) and min(pixel) > 240


def test_a_retried_upload_stores_one_photo(world, login, order):
    client, client_id, data = login("gw_a1"), uuid.uuid4(), camera_jpeg(800, 600)
    assert upload(client, order, data, client_id=client_id).status_code == 200
    assert upload(client, order, data, client_id=client_id).status_code == 200
    assert WorkOrderPhoto.objects.filter(order=order).count() == 1
    assert WorkOrderEvent.objects.filter(order=order, action=Action.PHOTO).count() == 1


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"name,phone\n\xe5\xbc\xa0\xe4\xb8\x89,13800000000\n", "Only JPEG or PNG"),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 200, "damaged"),
        (b"GIF89a" + b"\x00" * 50, "Only JPEG or PNG"),
        (b"", "Only JPEG or PNG"),
    ],
    ids=["csv-renamed", "truncated-jpeg", "gif", "empty"],
)
def test_what_is_not_a_photo_is_refused_with_the_reason(world, login, order, data, message):
    client = login("gw_a1")
    client.cookies["django_language"] = "en"
    response = upload(client, order, data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not WorkOrderPhoto.objects.exists()


def test_a_decompression_bomb_is_refused_before_it_is_decoded(world, order):
    out = io.BytesIO()
    Image.new("1", (10_000, 6_000)).save(out, "PNG")  # 60 Mpx in a few KB
    assert len(out.getvalue()) < 100_000
    with translation.override("en"), pytest.raises(Exception, match="too many pixels"):
        photos.reencode(out.getvalue())


def test_an_order_holds_at_most_six_photos(world, login, order):
    client, data = login("gw_a1"), camera_jpeg(64, 48)
    for _ in range(photos.MAX_PER_ORDER):
        assert upload(client, order, data).status_code == 200
    response = upload(client, order, data)
    assert response.status_code == 400
    assert WorkOrderPhoto.objects.filter(order=order).count() == photos.MAX_PER_ORDER


def test_only_the_assignee_adds_photos_and_only_until_verified(world, login, order):
    data = camera_jpeg(64, 48)
    # The village cadre may see the order but not add to its work.
    assert upload(login("cadre_a"), order, data).status_code == 403
    services.order_cancel(order_id=order.pk, actor=world.users["commander"], reason="dup")
    response = upload(login("gw_a1"), order, data)
    assert response.status_code == 400
    assert not WorkOrderPhoto.objects.exists()
    order.refresh_from_db()
    assert order.status == Status.CANCELLED


def test_a_photo_is_seen_by_the_order_s_viewers_and_no_one_else(world, login, order):
    upload(login("gw_a1"), order, camera_jpeg(64, 48))
    photo = WorkOrderPhoto.objects.get(order=order)
    url = f"/tasks/photos/{photo.pk}/"
    assert login("cadre_a").get(url).status_code == 200  # the village of A1
    assert login("gw_b1").get(url).status_code == 404  # another village's grid worker
    assert login("anonymous").get(url).status_code == 302  # to the login page
    assert login("gw_a1").get("/tasks/photos/999999/").status_code == 404


def test_without_htmx_the_upload_returns_to_the_task_page(world, login, order):
    response = upload(login("gw_a1"), order, camera_jpeg(64, 48), htmx=False)
    assert response.status_code == 302 and response["Location"] == f"/tasks/{order.pk}/"


def test_the_api_attaches_a_photo_once(world, login, order):
    client, client_id = login("gw_a1"), str(uuid.uuid4())
    url = f"/api/v1/orders/{order.pk}/photos"
    data = camera_jpeg(640, 480)
    first = client.post(url, {"photo": SimpleUploadedFile("a.jpg", data), "client_id": client_id})
    assert first.status_code == 200, first.content
    again = client.post(url, {"photo": SimpleUploadedFile("a.jpg", data), "client_id": client_id})
    assert first.json()["id"] == again.json()["id"] and again.json()["created"] is False
    assert first.json()["url"] == f"/tasks/photos/{first.json()['id']}/"
    bad = client.post(
        url, {"photo": SimpleUploadedFile("a.jpg", b"hello"), "client_id": str(uuid.uuid4())}
    )
    assert bad.status_code == 400
    # Someone else's order is not found, before the upload is even read.
    other = login("gw_b1").post(
        url, {"photo": SimpleUploadedFile("a.jpg", data), "client_id": str(uuid.uuid4())}
    )
    assert other.status_code == 404
    assert WorkOrderPhoto.objects.count() == 1
