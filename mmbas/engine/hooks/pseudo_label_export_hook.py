# Copyright (c) mmbas contributors. All rights reserved.
"""Write pseudo-mask PNGs from the test predictions."""
from typing import Optional, Sequence

from mmengine.dataset import DefaultSampler
from mmengine.dist import broadcast_object_list, get_dist_info
from mmengine.hooks import Hook
from mmseg.registry import HOOKS
from torch.utils.data import DataLoader

from mmbas.pseudo.session import ExportSession, dataset_names, sample_name


@HOOKS.register_module()
class PseudoLabelExportHook(Hook):
    """Save ``pred_sem_seg`` of every test sample as a pseudo-mask PNG.

    The export session of the export tool
    (:class:`mmbas.pseudo.session.ExportSession`):
    ``<out_dir>/<image file stem>.png``, mode 'P' with the VOC palette,
    values 0..C (0 background) and 255, written atomically; with
    ``save_scores`` the maps of the predicted classes go to
    ``<stem>.npz`` (float16). At the end of the test epoch the counts are
    summed over the ranks; rank 0 logs the summary, writes
    ``<out_dir>/export_summary.json`` and removes the temp files that
    killed earlier runs left in ``<out_dir>/.tmp``.

    Resuming: images whose PNG exists are skipped BEFORE inference -- the
    test dataloader is rebuilt over the remaining images -- so the test
    metrics of a resumed run cover only the images exported by it (a
    warning says so). Multi-process: mmengine's ``DefaultSampler`` pads the
    last shards with repeats of the first images; those repeats are not
    written or counted again, so the summary counts each image once.

    Use it with ``tools/test.py`` via ``custom_hooks=[dict(
    type='PseudoLabelExportHook', out_dir='work_dirs/pseudo')]``.

    Args:
        out_dir (str): output folder (created; must be writable).
        save_scores (bool): also write the score maps. Defaults to False.
        queue_size (int): bound of the background writer queue.
            Defaults to 8.
    """

    priority = 'LOW'

    def __init__(self,
                 out_dir: str,
                 save_scores: bool = False,
                 queue_size: int = 8):
        self.out_dir = out_dir
        self.save_scores = save_scores
        self.queue_size = queue_size
        self.session: Optional[ExportSession] = None
        self.summary = None
        self._seen = self._size = self._rank = 0
        self._done = set()
        self._original = None
        self._world_size = 1

    def before_test_epoch(self, runner) -> None:
        """Open the session, count the finished images as skipped and run the
        loop over the others only."""
        loop = runner.test_loop
        loader = loop.dataloader
        dataset = loader.dataset
        rank, world_size = get_dist_info()
        self.session = ExportSession(self.out_dir, dataset.metainfo['classes'],
                                     self.save_scores, self.queue_size)
        names = dataset_names(dataset)
        done = self._finished_before_run(names, rank, world_size)
        # each finished image is counted by one rank
        self.session.skip_done(names, done[rank::world_size])
        finished = set(done)
        self._done = {names[i] for i in done}
        todo = [i for i in range(len(names)) if i not in finished]
        if done and todo:
            runner.logger.warning(
                f'PseudoLabelExportHook: {len(done)} of {len(names)} masks '
                f'already exist in {self.out_dir} and are skipped; the test '
                f'metrics of this run cover the other {len(todo)} images')
            dataset = dataset.get_subset(todo)
        elif done:
            # nothing to export: the test runs for its metrics only
            runner.logger.warning(
                f'PseudoLabelExportHook: all {len(names)} masks already '
                f'exist in {self.out_dir}; nothing is written')
        sampler = getattr(loader, 'sampler', None)
        ordered = isinstance(sampler, DefaultSampler) and not sampler.shuffle
        if (done and todo) or not ordered:
            self._original = (loop, loader)  # restored after the epoch
            loop.dataloader = self._rebuild(loader, dataset)
        # DefaultSampler without shuffle: sample k of rank r is position
        # r + k * world_size of the padded list; positions >= len(dataset)
        # repeat the first images (written by their own rank)
        self._size = len(dataset)
        self._rank, self._world_size = rank, world_size
        self._seen = 0

    def _finished_before_run(self, names, rank: int, world_size: int) -> list:
        """Indices of the images of ``names`` whose mask exists, as rank 0
        listed them before any rank of this run wrote one.

        The ranks share ``out_dir`` and reach ``before_test_epoch`` at
        different times. A rank that listed the folder itself after another
        rank had begun writing would count masks of this run as finished and
        loop over another image list than the other ranks: its test loop
        would then differ in length and in collectives (the rebuilt
        sampler's seed broadcast against the metrics' result collection),
        which garbles the data they exchange or aborts gloo. So rank 0
        lists the folder and broadcasts the list; the other ranks wait for
        it here, before they write anything.
        """
        done = None
        if rank == 0:
            done = [i for i, n in enumerate(names) if self.session.is_done(n)]
        if world_size > 1:
            listing = [done]
            broadcast_object_list(listing, src=0)
            done = listing[0]
        return done

    @staticmethod
    def _rebuild(loader: DataLoader, dataset) -> DataLoader:
        """The test loader over ``dataset``, ordered and padded like mmengine's
        test loaders."""
        return DataLoader(
            dataset,
            batch_size=loader.batch_size,
            # the seed only shuffles; without one DefaultSampler
            # broadcasts a random seed (a collective)
            sampler=DefaultSampler(dataset, shuffle=False, seed=0),
            num_workers=loader.num_workers,
            collate_fn=loader.collate_fn,
            pin_memory=loader.pin_memory,
            worker_init_fn=loader.worker_init_fn,
            persistent_workers=False)

    def after_test_iter(self,
                        runner,
                        batch_idx: int,
                        data_batch=None,
                        outputs: Optional[Sequence] = None) -> None:
        """Queue the label map (and scores) of every new output sample."""
        if self.session is None or not outputs:
            return
        for ds in outputs:
            position = self._rank + self._seen * self._world_size
            self._seen += 1
            if position >= self._size:
                continue  # the sampler's padding: written by another rank
            if self._done and sample_name(ds.metainfo) in self._done:
                continue  # finished before this run (counted as skipped)
            self.session.submit_sample(ds)

    def after_test_epoch(self, runner, metrics=None) -> None:
        """Flush, gather the counts, log and save the summary."""
        if self._original is not None:
            loop, loader = self._original
            loop.dataloader, self._original = loader, None
        if self.session is None:
            return
        session, self.session = self.session, None
        rank, _ = get_dist_info()
        self.summary = session.finish(rank)
        if rank == 0:
            runner.logger.info('\n' + session.format(self.summary))
