# MMAction2 1.2.0's RGBPoseConv3D stage-1 RGB config (SlowOnly-R50 on the compact RGB
# crop) with rgbpose-plugin's FastMMDecode and FastMMCompact (drop-ins for MMDecode and
# MMCompact).
_base_ = 'mmaction::skeleton/posec3d/rgbpose_conv3d/rgb_only.py'
custom_imports = dict(imports=['rgbpose_plugin.mmaction'], allow_failed_imports=False)

train_pipeline = [
    dict(type='MMUniformSampleFrames', clip_len=dict(RGB=8), num_clips=1),
    dict(type='FastMMDecode'),
    dict(type='FastMMCompact', hw_ratio=1., allow_imgpad=True),
    dict(type='Resize', scale=(256, 256), keep_ratio=False),
    dict(type='RandomResizedCrop', area_range=(0.56, 1.0)),
    dict(type='Resize', scale=(224, 224), keep_ratio=False),
    dict(type='Flip', flip_ratio=0.5),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs')
]
val_pipeline = [
    dict(type='MMUniformSampleFrames', clip_len=dict(RGB=8), num_clips=1, test_mode=True),
    dict(type='FastMMDecode'),
    dict(type='FastMMCompact', hw_ratio=1., allow_imgpad=True),
    dict(type='Resize', scale=(224, 224), keep_ratio=False),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs')
]
test_pipeline = [
    dict(type='MMUniformSampleFrames', clip_len=dict(RGB=8), num_clips=10, test_mode=True),
    dict(type='FastMMDecode'),
    dict(type='FastMMCompact', hw_ratio=1., allow_imgpad=True),
    dict(type='Resize', scale=(224, 224), keep_ratio=False),
    dict(type='FormatShape', input_format='NCTHW'),
    dict(type='PackActionInputs')
]
train_dataloader = dict(dataset=dict(dataset=dict(pipeline=train_pipeline)))
val_dataloader = dict(dataset=dict(pipeline=val_pipeline))
test_dataloader = dict(dataset=dict(pipeline=test_pipeline))
