"""The comparison report: figures, text generated from the numbers, HTML and Markdown.

:mod:`latentlab.report.inputs` reads and checks the stage outputs;
:mod:`latentlab.report.words` holds the shared vocabulary (number formats, computed
comparisons, blocks, tables, section numbers); :mod:`latentlab.report.text` writes the
sections from the metrics, with :mod:`latentlab.report.sections_data` (the data set:
source, splits, labels or their absence, the binarisation and what it makes of the
likelihood), :mod:`latentlab.report.sections_info` (the ELBO's
tightness, per-dimension KL, I(x; z), the information-theory identities) and
:mod:`latentlab.report.sections_sweep` (the DAE corruption sweep) and
:mod:`latentlab.report.sections_changes` ("What changed": the metrics against those
committed at HEAD, which :mod:`latentlab.report.gitstate` reads with git);
:mod:`latentlab.report.figures` draws (the only module that imports matplotlib);
:mod:`latentlab.report.build` ties them together and renders ``report.html``
(self-contained), ``report.md`` and ``figures/*.png``. Nothing here imports
mlflow or torch.
"""
