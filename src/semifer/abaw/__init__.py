"""The ABAW EXPR formats, in one place so that every reader, writer and scorer agrees on them.

- ``annotation``: the per-video annotation file (header, one label per frame, -1 = not annotated).
- ``alignment``: how an annotation's lines meet a video's frames, its known extra line included.
- ``submission``: the submission file, which is also the predictions format ``semifer evaluate`` reads.
"""
