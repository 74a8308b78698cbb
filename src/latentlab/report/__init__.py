"""The comparison report: figures, text generated from the numbers, HTML and Markdown.

:mod:`latentlab.report.inputs` reads and checks the stage outputs;
:mod:`latentlab.report.text` writes the sentences and table data from the metrics;
:mod:`latentlab.report.figures` draws (the only module that imports matplotlib);
:mod:`latentlab.report.build` ties them together and renders ``report.html``
(self-contained), ``report.md`` and ``figures/*.png``. Nothing here imports
mlflow or torch.
"""
