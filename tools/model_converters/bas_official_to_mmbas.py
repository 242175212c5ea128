# Copyright (c) mmbas contributors. All rights reserved.
"""Convert the BAS authors' released checkpoints to mmbas.

Sources: ``wpy1999/BAS`` (CVPR 2022) and ``wpy1999/BAS-Extension`` (IJCV).
Their files are ``torch.save({'model': state_dict, 'best_thr': .., 'epoch':
..})`` (WSOL ``*.pth.tar``) or a bare state dict (WSSS ``epoch_N.pth.tar``),
possibly with ``module.`` prefixes (DataParallel / DDP).

Key mapping (reference name -> mmbas name):

* backbone, ``wsol-resnet50`` / ``wsss-resnet50``: ``conv1``, ``bn1``,
  ``layer1``..``layer4`` -> ``backbone.<same>`` (torchvision names);
* backbone, ``wsol-vgg16``: ``convA_B`` (conv1_1 .. conv5_3) ->
  ``backbone.features.<torchvision index>`` (0, 2, 5, ..., 28);
* backbone, ``wsol-inceptionv3``: ``Conv2d_*``, ``Mixed_*`` ->
  ``backbone.<same>``;
* backbone, ``wsol-mobilenetv1``: ``model.<i>.<j>`` ->
  ``backbone.model.<i>.<j>``;
* generator, all variants: ``classifier_loc.0`` -> ``head.generator``;
* classifier, ``wsol-*``: ``classifier_cls.{0,2,4}`` ->
  ``head.classifier.{0,2,4}``;
* classifier, ``wsss-resnet50``: ``classifier_cls`` (one 1x1 conv, no bias)
  -> ``head.classifier.0``.

Dropped on purpose (listed in the output): the CVPR code's persistent deep
copies (``*_copy*``, ``erase_branch``), Inception ``AuxLogits`` and ``fc``.
Any other key is reported as unmapped. Note that the CVPR classifiers end
with a ReLU (no parameters) while mmbas follows the journal version (no
final ReLU), so CVPR checkpoints give the same maps but clipped-vs-raw
class scores.

Usage::

    python tools/model_converters/bas_official_to_mmbas.py SRC DST \
        [--variant wsol-resnet50|wsol-vgg16|wsol-inceptionv3|
                   wsol-mobilenetv1|wsss-resnet50] [--no-validate]
"""
import argparse
import os.path as osp
import re
import sys
from collections import OrderedDict

import torch

VARIANTS = ('wsol-resnet50', 'wsol-vgg16', 'wsol-inceptionv3',
            'wsol-mobilenetv1', 'wsss-resnet50')

#: mmbas backbone config of each variant (used for validation and in meta)
BACKBONES = {
    'wsol-resnet50': dict(type='WSOLResNet', depth=50),
    'wsss-resnet50': dict(type='WSSSResNet', depth=50),
    'wsol-vgg16': dict(type='WSOLVGG16'),
    'wsol-inceptionv3': dict(type='WSOLInceptionV3'),
    'wsol-mobilenetv1': dict(type='MobileNetV1'),
}

#: reference VGG16 conv name -> index in torchvision's ``features``
VGG16_CONV_INDEX = {
    'conv1_1': 0, 'conv1_2': 2,
    'conv2_1': 5, 'conv2_2': 7,
    'conv3_1': 10, 'conv3_2': 12, 'conv3_3': 14,
    'conv4_1': 17, 'conv4_2': 19, 'conv4_3': 21,
    'conv5_1': 24, 'conv5_2': 26, 'conv5_3': 28,
}  # yapf: disable

_BACKBONE_PATTERNS = {
    'wsol-resnet50': re.compile(r'^(conv1|bn1|layer[1-4])\.'),
    'wsss-resnet50': re.compile(r'^(conv1|bn1|layer[1-4])\.'),
    'wsol-inceptionv3': re.compile(r'^(Conv2d_\w+|Mixed_\w+)\.'),
    'wsol-mobilenetv1': re.compile(r'^model\.\d+\.\d+\.'),
}
_VGG_KEY = re.compile(r'^(conv\d_\d)\.(weight|bias)$')
# copies the CVPR code keeps as submodules, and unused torchvision heads
_DROPPED = re.compile(r'(^|\.)\w*_copy(_\w+)?\.|^erase_branch\.|'
                      r'^AuxLogits\.|^fc\.')


class ConversionError(RuntimeError):
    """The source checkpoint does not have a known BAS layout."""


def load_source(path: str, trust: bool = False):
    """Load a reference checkpoint.

    Args:
        path (str): ``.pth`` / ``.pth.tar`` file.
        trust (bool): Unpickle arbitrary objects (``weights_only=False``).
            Only for files you trust. Defaults to False.

    Returns:
        tuple[OrderedDict, dict]: The state dict (``module.`` prefixes
        removed) and the other top-level entries (epoch, best_thr, ...)
        converted to plain Python values where possible.
    """
    if not osp.isfile(path):
        raise ConversionError(f'{path} does not exist')
    try:
        obj = torch.load(path, map_location='cpu', weights_only=not trust)
    except Exception as e:  # noqa: BLE001
        if trust:
            raise
        raise ConversionError(
            f'could not load {path} with weights_only=True ({e}). If you '
            'trust this file, rerun with --trust to unpickle it fully.') from e
    extra = {}
    if isinstance(obj, dict) and not _is_state_dict(obj):
        for key in ('state_dict', 'model', 'model_state_dict', 'net'):
            if key in obj and isinstance(obj[key], dict):
                state_dict = obj[key]
                extra = {
                    k: _plain(v)
                    for k, v in obj.items()
                    if k != key and _plain(v) is not None
                }
                break
        else:
            raise ConversionError(
                f'{path}: a dict without tensors and without a '
                f"'state_dict'/'model' entry (keys: {list(obj)[:10]})")
    elif isinstance(obj, dict):
        state_dict = obj
    else:
        raise ConversionError(
            f'{path}: expected a dict, got {type(obj).__name__}')
    return strip_module_prefix(state_dict), extra


def _is_state_dict(obj: dict) -> bool:
    return len(obj) > 0 and all(
        isinstance(v, torch.Tensor) for v in obj.values())


def _plain(value):
    """Python scalar/str for meta, None when not representable."""
    if isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        return value.item()
    if hasattr(value, 'item') and getattr(value, 'size', 0) == 1:
        return value.item()  # numpy scalar
    if isinstance(value, (list, tuple)):
        items = [_plain(v) for v in value]
        return None if any(v is None for v in items) else items
    return None


def strip_module_prefix(state_dict: dict) -> 'OrderedDict[str, torch.Tensor]':
    """Remove (repeated) ``module.`` prefixes of DataParallel / DDP."""
    out = OrderedDict()
    for key, value in state_dict.items():
        while key.startswith('module.'):
            key = key[len('module.'):]
        out[key] = value
    return out


def detect_variant(state_dict: dict) -> str:
    """Guess the variant from the reference key names.

    Raises:
        ConversionError: If no known layout matches.
    """
    keys = set(state_dict)
    if 'conv1_1.weight' in keys:
        return 'wsol-vgg16'
    if 'Conv2d_1a_3x3.conv.weight' in keys:
        return 'wsol-inceptionv3'
    if 'model.0.0.weight' in keys:
        return 'wsol-mobilenetv1'
    if 'layer4.0.conv1.weight' in keys:
        if 'classifier_cls.weight' in keys:
            return 'wsss-resnet50'
        if 'classifier_cls.0.weight' in keys:
            return 'wsol-resnet50'
        raise ConversionError(
            'found a ResNet backbone but no BAS classifier '
            "('classifier_cls.weight' or 'classifier_cls.0.weight'); this is "
            'not a BAS checkpoint (plain ImageNet ResNets need no conversion)')
    raise ConversionError(
        'unknown checkpoint layout; expected one of the BAS reference models '
        f'({", ".join(VARIANTS)}). First keys: {sorted(keys)[:8]}')


def map_key(key: str, variant: str):
    """mmbas name of one reference key, or None when unmapped."""
    m = re.match(r'^classifier_loc\.0\.(weight|bias)$', key)
    if m:
        return f'head.generator.{m.group(1)}'
    if variant.startswith('wsss'):
        if key == 'classifier_cls.weight':
            return 'head.classifier.0.weight'
    else:
        m = re.match(r'^classifier_cls\.([024])\.(weight|bias)$', key)
        if m:
            return f'head.classifier.{m.group(1)}.{m.group(2)}'
    if variant == 'wsol-vgg16':
        m = _VGG_KEY.match(key)
        if m and m.group(1) in VGG16_CONV_INDEX:
            return (f'backbone.features.{VGG16_CONV_INDEX[m.group(1)]}.'
                    f'{m.group(2)}')
        return None
    if _BACKBONE_PATTERNS[variant].match(key):
        return f'backbone.{key}'
    return None


def convert(state_dict: dict, variant: str):
    """Rename a reference state dict.

    Args:
        state_dict (dict): Reference state dict without ``module.``.
        variant (str): One of :data:`VARIANTS`.

    Returns:
        tuple[OrderedDict, list[str], list[str]]: The mmbas state dict, the
        keys dropped on purpose and the unmapped keys.
    """
    if variant not in VARIANTS:
        raise ConversionError(f'unknown variant {variant!r}; choose from '
                              f'{", ".join(VARIANTS)}')
    out, dropped, unmapped = OrderedDict(), [], []
    for key, value in state_dict.items():
        if _DROPPED.search(key):
            dropped.append(key)
            continue
        new_key = map_key(key, variant)
        if new_key is None:
            unmapped.append(key)
        else:
            out[new_key] = value
    required = ['head.generator.weight', 'head.classifier.0.weight']
    if not variant.startswith('wsss'):
        required += [
            'head.generator.bias', 'head.classifier.2.weight',
            'head.classifier.4.weight'
        ]
    missing = [k for k in required if k not in out]
    if missing:
        raise ConversionError(
            f'{variant}: the BAS head keys {missing} are missing; is this '
            'the right variant?')
    return out, dropped, unmapped


def validate(state_dict: dict, variant: str) -> None:
    """Check the backbone keys/shapes against the mmbas backbone and the head
    shapes against its F1/F2 channels.

    Raises:
        ConversionError: On missing/unexpected keys or shape mismatches.
    """
    from mmseg.registry import MODELS

    import mmbas  # noqa: F401  (registers the backbones)
    backbone = MODELS.build(dict(BACKBONES[variant], init_cfg=None))
    expected = backbone.state_dict()
    got = {
        k[len('backbone.'):]: v
        for k, v in state_dict.items() if k.startswith('backbone.')
    }
    missing = sorted(set(expected) - set(got))
    unexpected = sorted(set(got) - set(expected))
    if missing or unexpected:
        raise ConversionError(
            f'{variant}: backbone keys do not match mmbas '
            f'{BACKBONES[variant]["type"]}: missing {missing[:10]} '
            f'({len(missing)}), unexpected {unexpected[:10]} '
            f'({len(unexpected)})')
    bad = [
        k for k, v in expected.items() if tuple(v.shape) != tuple(got[k].shape)
    ]
    if bad:
        raise ConversionError(f'{variant}: backbone shape mismatch at '
                              f'{bad[:10]}')
    gen_in = state_dict['head.generator.weight'].shape[1]
    cls_in = state_dict['head.classifier.0.weight'].shape[1]
    if gen_in != backbone.f1_channels or cls_in != backbone.f2_channels:
        raise ConversionError(
            f'{variant}: head input channels (generator {gen_in}, classifier '
            f'{cls_in}) differ from the backbone (F1 {backbone.f1_channels}, '
            f'F2 {backbone.f2_channels})')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Convert a BAS reference checkpoint to mmbas.')
    parser.add_argument('src', help='reference checkpoint (.pth/.pth.tar)')
    parser.add_argument('dst', help='output mmbas checkpoint (.pth)')
    parser.add_argument(
        '--variant',
        choices=VARIANTS,
        help='model variant; detected from the key names when omitted')
    parser.add_argument(
        '--no-validate',
        action='store_true',
        help='skip the check against a freshly built mmbas backbone')
    parser.add_argument(
        '--trust',
        action='store_true',
        help='load SRC with full unpickling (weights_only=False); only for '
        'files you trust')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        state_dict, extra = load_source(args.src, trust=args.trust)
        detected = detect_variant(state_dict)
        variant = args.variant or detected
        if args.variant and args.variant != detected:
            raise ConversionError(
                f'--variant {args.variant} given but the keys look like '
                f'{detected}')
        new_sd, dropped, unmapped = convert(state_dict, variant)
        if not args.no_validate:
            validate(new_sd, variant)
    except ConversionError as e:
        print(f'error: {e}', file=sys.stderr)
        return 1
    if dropped:
        print(f'dropped {len(dropped)} keys on purpose (reference deep '
              f'copies / AuxLogits / fc), e.g. {dropped[:3]}')
    if unmapped:
        print(f'WARNING: {len(unmapped)} unmapped keys not converted: '
              f'{unmapped}')
    num_classes = int(new_sd['head.generator.weight'].shape[0])
    meta = dict(
        converted_from=osp.basename(args.src),
        converter='tools/model_converters/bas_official_to_mmbas.py',
        variant=variant,
        backbone=dict(BACKBONES[variant]),
        num_classes=num_classes,
        source_meta=extra)
    torch.save(dict(meta=meta, state_dict=new_sd), args.dst)
    print(f'{variant}: wrote {len(new_sd)} tensors ({num_classes} classes) '
          f'to {args.dst}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
