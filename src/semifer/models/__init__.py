"""Networks: timm backbones for frames (stage 1) and the temporal encoder (stage 2)."""
