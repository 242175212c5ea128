# Copyright (c) mmbas contributors. All rights reserved.
"""Strict image reading: a truncated or corrupt file is an error naming it.

Decoders differ in how they treat a file cut short (measured with
OpenCV 5.1.0 and Pillow on a toy JPEG cut 2 to 5000 bytes before its end):
``cv2.imread(path)`` returns a full-size image whose missing rows are grey
and only prints ``Premature end of JPEG file``; ``cv2.imdecode`` of the same
bytes returns ``None`` (mmcv's ``LoadImageFromFile`` then fails with a bare
``AssertionError``); Pillow raises ``OSError: image file is truncated``
unless ``PIL.ImageFile.LOAD_TRUNCATED_IMAGES`` is set. The functions here do
not depend on which of these a build does:

* a JPEG must end with its end-of-image marker (``FF D9``) and a PNG with
  its ``IEND`` chunk, trailing NUL / whitespace padding allowed;
* a file that does not is decoded once more with Pillow, truncated images
  not allowed: files with data after the marker (some cameras append some)
  pass, files cut short fail;
* a decoder that returns nothing is an error too.

Every failure raises :class:`~mmbas.utils.errors.CorruptFileError` naming
the file; a missing file raises ``FileNotFoundError`` naming it.
"""
import io
from typing import Optional

import numpy as np

from .errors import CorruptFileError

JPEG_START = b'\xff\xd8'
JPEG_END = b'\xff\xd9'
PNG_START = b'\x89PNG\r\n\x1a\n'
#: type and CRC of the IEND chunk, the last 8 bytes of a complete PNG
PNG_END = b'IEND\xaeB`\x82'
#: padding some writers leave after the end marker
_PADDING = b'\x00 \t\r\n'

FIX = ('copy the file again from the original dataset, or remove it from '
       'the image list')


def _format(data: bytes) -> Optional[str]:
    if data.startswith(JPEG_START):
        return 'JPEG'
    if data.startswith(PNG_START):
        return 'PNG'
    return None


def _pillow_error(data: bytes) -> Optional[str]:
    """Pillow's complaint about ``data`` (decoded completely, truncated images
    not allowed), or None when it decodes."""
    from PIL import Image, ImageFile
    allowed = ImageFile.LOAD_TRUNCATED_IMAGES
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
    except Exception as err:  # noqa: BLE001 (any decode failure)
        return str(err) or type(err).__name__
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = allowed
    return None


def check_image_bytes(data: bytes, path: str) -> None:
    """Raise :class:`CorruptFileError` naming ``path`` if the bytes of an image
    file are empty, or a JPEG / PNG cut short (see the module doc).

    Args:
        data (bytes): The file's content.
        path (str): The file's name, for the message.
    """
    if not data:
        raise CorruptFileError(f'image file {path} is empty (0 bytes); {FIX}')
    kind = _format(data)
    if kind is None:
        return
    end = JPEG_END if kind == 'JPEG' else PNG_END
    if data.rstrip(_PADDING).endswith(end):
        return
    reason = _pillow_error(data)
    if reason is not None:
        raise CorruptFileError(
            f'image file {path} is truncated or corrupt ({kind} without '
            f'its end marker; Pillow: {reason}); {FIX}')


def read_image_bytes(path: str, backend_args: Optional[dict] = None) -> bytes:
    """The bytes of ``path`` (any mmengine file backend), checked with
    :func:`check_image_bytes`.

    Raises:
        FileNotFoundError: ``path`` does not exist (the message names it).
        CorruptFileError: the file is empty or cut short.
    """
    import mmengine.fileio as fileio
    try:
        data = fileio.get(path, backend_args=backend_args)
    except FileNotFoundError:
        raise FileNotFoundError(
            f'image file {path} does not exist; {FIX}') from None
    check_image_bytes(data, path)
    return data


def check_image_file(path: str, backend_args: Optional[dict] = None) -> None:
    """Raise if the image file ``path`` is missing, empty or cut short, without
    decoding a complete file (cheap enough to run over a whole image list
    before a long job).

    Args:
        path (str): Image file.
        backend_args (dict, optional): mmengine file backend arguments.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        CorruptFileError: the file is empty or cut short.
    """
    read_image_bytes(path, backend_args)


def imread_strict(path: str,
                  flag: str = 'color',
                  channel_order: str = 'bgr',
                  backend: Optional[str] = 'cv2',
                  backend_args: Optional[dict] = None) -> np.ndarray:
    """Read and decode an image like ``mmcv.imfrombytes``, failing loudly.

    Args:
        path (str): Image file.
        flag (str): ``'color'``, ``'grayscale'``, ``'unchanged'``, ... as in
            :func:`mmcv.imread`. Defaults to ``'color'``.
        channel_order (str): ``'bgr'`` (default, as mmcv) or ``'rgb'``.
        backend (str, optional): mmcv decoding backend. Defaults to
            ``'cv2'``.
        backend_args (dict, optional): mmengine file backend arguments.

    Returns:
        np.ndarray: (H, W, 3) uint8 for colour images ((H, W) for
        grayscale).

    Raises:
        FileNotFoundError: ``path`` does not exist.
        CorruptFileError: the file is empty, cut short or not decodable.
    """
    import mmcv
    data = read_image_bytes(path, backend_args)
    try:
        img = mmcv.imfrombytes(
            data, flag=flag, channel_order=channel_order, backend=backend)
    except Exception as err:  # noqa: BLE001 (decoder-specific errors)
        raise CorruptFileError(
            f'image file {path} cannot be decoded ({err}); {FIX}') from None
    if img is None:
        raise CorruptFileError(
            f'image file {path} cannot be decoded (not an image, or '
            f'corrupt); {FIX}')
    return img
