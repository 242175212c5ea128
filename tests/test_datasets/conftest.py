# Copyright (c) mmbas contributors. All rights reserved.
import pytest


@pytest.fixture(scope='session')
def toy(tmp_path_factory):
    """All toy datasets (small) in one session folder: {name: manifest}."""
    from mmengine.registry import init_default_scope

    import mmbas  # noqa: F401  (registers modules)
    from mmbas.testing.toy_data import make_all
    init_default_scope('mmseg')
    root = tmp_path_factory.mktemp('toy')
    manifests = make_all(str(root), seed=0, num_train=8, num_val=4)
    manifests['_root'] = str(root)
    return manifests
