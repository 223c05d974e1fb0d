# MMAction2 1.2.0's RGBPoseConv3D config (NTU-60 xsub) with rgbpose-plugin's drop-in
# transforms: FastMMDecode, FastMMCompact, FastGeneratePoseTarget (same arguments as
# MMDecode, MMCompact, GeneratePoseTarget; see rgbpose_plugin/mmaction/__init__.py).
#   python tools/train.py configs/mmaction2/rgbpose_conv3d_fast.py   # MMAction2's tools
_base_ = 'mmaction::skeleton/posec3d/rgbpose_conv3d/rgbpose_conv3d.py'
custom_imports = dict(imports=['rgbpose_plugin.mmaction'], allow_failed_imports=False)

left_kp = [1, 3, 5, 7, 9, 11, 13, 15]
right_kp = [2, 4, 6, 8, 10, 12, 14, 16]
train_pipeline = [
    dict(type='MMUniformSampleFrames', clip_len=dict(RGB=8, Pose=32), num_clips=1),
    dict(type='FastMMDecode'),
    dict(type='FastMMCompact', hw_ratio=1., allow_imgpad=True),
    dict(type='Resize', scale=(256, 256), keep_ratio=False),
    dict(type='RandomResizedCrop', area_range=(0.56, 1.0)),
    dict(type='Resize', scale=(224, 224), keep_ratio=False),
    dict(type='Flip', flip_ratio=0.5, left_kp=left_kp, right_kp=right_kp),
    dict(type='FastGeneratePoseTarget', sigma=0.7, use_score=True, with_kp=True,
         with_limb=False, scaling=0.25),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs', collect_keys=('imgs', 'heatmap_imgs'))
]
val_pipeline = [
    dict(type='MMUniformSampleFrames', clip_len=dict(RGB=8, Pose=32), num_clips=1,
         test_mode=True),
    dict(type='FastMMDecode'),
    dict(type='FastMMCompact', hw_ratio=1., allow_imgpad=True),
    dict(type='Resize', scale=(256, 256), keep_ratio=False),
    dict(type='FastGeneratePoseTarget', sigma=0.7, use_score=True, with_kp=True,
         with_limb=False, scaling=0.25),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs', collect_keys=('imgs', 'heatmap_imgs'))
]
# Ten clips: FastMMDecode decodes every distinct frame once for all of them.
test_pipeline = [
    dict(type='MMUniformSampleFrames', clip_len=dict(RGB=8, Pose=32), num_clips=10,
         test_mode=True),
    dict(type='FastMMDecode'),
    dict(type='FastMMCompact', hw_ratio=1., allow_imgpad=True),
    dict(type='Resize', scale=(256, 256), keep_ratio=False),
    dict(type='FastGeneratePoseTarget', sigma=0.7, use_score=True, with_kp=True,
         with_limb=False, scaling=0.25),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs', collect_keys=('imgs', 'heatmap_imgs'))
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
