# MMAction2 1.2.0's RGBPoseConv3D config, sized for the plugin's synthetic demo data
# (tools/make_demo_data.py, 8 classes, in demo_data/) and the CPU, with rgbpose-plugin's
# drop-in transforms (FastMMDecode, FastMMCompact, FastGeneratePoseTarget). From the
# plugin's folder, in the MMAction2 environment (docs/hosts.md):
#
#   MIM=$(python -c "import mmaction, os; print(os.path.dirname(mmaction.__file__))")/.mim
#   python $MIM/tools/train.py configs/mmaction2/rgbpose_conv3d_demo.py
#
# What differs from rgbpose_conv3d_fast.py: the data, 8 classes, the plugin demo's sizes
# (1 block per stage, 1/4 of the widths, RGB 4 x 64 px and pose 16 x 16 px, 3 test
# views), workers, a schedule for training from scratch, and no `load_from` download.
_base_ = 'mmaction::skeleton/posec3d/rgbpose_conv3d/rgbpose_conv3d.py'
custom_imports = dict(imports=['rgbpose_plugin.mmaction'], allow_failed_imports=False)

data_root = 'demo_data/videos'
ann_file = 'demo_data/annotations.pkl'
num_classes = 8
max_epochs = 12

model = dict(
    backbone=dict(
        rgb_pathway=dict(base_channels=16, stage_blocks=(1, 1, 1, 1)),
        pose_pathway=dict(base_channels=8, stage_blocks=(1, 1, 1))),
    cls_head=dict(num_classes=num_classes, in_channels=[512, 128]))

left_kp = [1, 3, 5, 7, 9, 11, 13, 15]
right_kp = [2, 4, 6, 8, 10, 12, 14, 16]
clip_len = dict(RGB=4, Pose=16)
heatmaps = dict(type='FastGeneratePoseTarget', sigma=0.7, use_score=True, with_kp=True,
                with_limb=False, scaling=0.25)
train_pipeline = [
    dict(type='MMUniformSampleFrames', clip_len=clip_len, num_clips=1),
    dict(type='FastMMDecode'),
    dict(type='FastMMCompact', hw_ratio=1., allow_imgpad=True),
    dict(type='Resize', scale=(72, 72), keep_ratio=False),
    dict(type='RandomResizedCrop', area_range=(0.56, 1.0)),
    dict(type='Resize', scale=(64, 64), keep_ratio=False),
    dict(type='Flip', flip_ratio=0.5, left_kp=left_kp, right_kp=right_kp),
    heatmaps,
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs', collect_keys=('imgs', 'heatmap_imgs'))
]


def _test_pipeline(num_clips):
    return [
        dict(type='MMUniformSampleFrames', clip_len=clip_len, num_clips=num_clips,
             test_mode=True),
        dict(type='FastMMDecode'),
        dict(type='FastMMCompact', hw_ratio=1., allow_imgpad=True),
        dict(type='Resize', scale=(64, 64), keep_ratio=False),
        heatmaps,
        dict(type='FormatShape', input_format='NCTHW'),
        dict(type='PackActionInputs', collect_keys=('imgs', 'heatmap_imgs'))
    ]


val_pipeline = _test_pipeline(1)
test_pipeline = _test_pipeline(3)


def _loader(split, pipeline, batch_size):
    return dict(
        batch_size=batch_size, num_workers=2, persistent_workers=True,
        dataset=dict(ann_file=ann_file, data_prefix=dict(video=data_root), split=split,
                     pipeline=pipeline))


# Batches of 6 (the stock config's per GPU): MMAction2 1.2.0's RGBPoseHead fails on a batch
# of exactly num_classes clips (it takes the labels for soft labels).
train_dataloader = _loader('train', train_pipeline, 6)
val_dataloader = _loader('val', val_pipeline, 6)
test_dataloader = _loader('test', test_pipeline, 6)

train_cfg = dict(max_epochs=max_epochs, val_interval=2)
optim_wrapper = dict(optimizer=dict(lr=0.02))
param_scheduler = [dict(type='CosineAnnealingLR', T_max=max_epochs, by_epoch=True,
                        begin=0, end=max_epochs)]
default_hooks = dict(logger=dict(interval=10), checkpoint=dict(interval=2))
randomness = dict(seed=1)
load_from = None
