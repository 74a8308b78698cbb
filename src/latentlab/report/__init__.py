"""The comparison report: figures, text generated from the numbers, HTML and Markdown.

Reading the stage outputs: :mod:`latentlab.report.inputs` holds the types
(``ReportPaths``, ``ReportInputs``, the methods' order);
:mod:`latentlab.report.inputs_files` reads and checks one file at a time,
:mod:`latentlab.report.inputs_checks` checks that the files agree with each other,
:mod:`latentlab.report.inputs_verdict` reads the verdict and checks it against the
table it decides, :mod:`latentlab.report.inputs_sweep` checks the DAE sweep's verdict and
protocol, and :mod:`latentlab.report.inputs_load` ties them into ``load_inputs``;
none of them reads git.

Writing the text: :mod:`latentlab.report.words` holds the shared vocabulary (number
formats, computed comparisons, section numbers) and :mod:`latentlab.report.blocks`
the shared types (paragraph, figure and table blocks, ``FigureRef``, ``Column``);
:mod:`latentlab.report.verdicts` words every comparison of methods as far as the
verdict's paired intervals carry it (intervals, best, tied, not ranked).
One module per kind of section, each given the inputs it reads:
:mod:`latentlab.report.sections_verdict` (the opening "Verdict": the best or tied
methods per criterion, the caveats; ``verdict_summary_lines`` as plain text),
:mod:`latentlab.report.sections_data` (the data set: source,
splits, labels or their absence, the binarisation and what it makes of the
likelihood), :mod:`latentlab.report.sections_baselines` (PCA and t-SNE),
:mod:`latentlab.report.sections_models` (the AE, DAE and VAE),
:mod:`latentlab.report.sections_sweep` (the DAE corruption sweep),
:mod:`latentlab.report.sections_info` (the ELBO's tightness, per-dimension KL,
I(x; z), the information-theory identities),
:mod:`latentlab.report.sections_comparison` (the table of all methods),
:mod:`latentlab.report.sections_latent` (embeddings, decoded prior, walks) and
:mod:`latentlab.report.sections_provenance`; :mod:`latentlab.report.contents` puts
them in order with the title and the figures' captions.

"What changed" since the last commit is a command of its own, not a section, since it
reads git: :mod:`latentlab.report.changes` (``python -m latentlab.report.changes``, run
by ``make repro``) prints it and writes the git-ignored ``reports/changes.md``;
:mod:`latentlab.report.changes_inputs` reads today's params, data set and metrics and
HEAD's, through :mod:`latentlab.report.gitstate` (git, and ``dvc.lock`` with the DVC
cache), and :mod:`latentlab.report.sections_changes` words them: the params, data set
and code against HEAD, then the metrics that moved beyond their noise.

Drawing: :mod:`latentlab.report.figures_images` (image grids and strips),
:mod:`latentlab.report.figures_curves` (training curves, bars, the sweep) and
:mod:`latentlab.report.figures_latent` (per-dimension statistics, embeddings), with
:mod:`latentlab.report.figures_render` (the backend, styles and deterministic PNGs):
the only modules that import matplotlib.

:mod:`latentlab.report.build` ties them together and renders ``report.html``
(self-contained), ``report.md`` and ``figures/*.png`` into ``outputs/report/`` (DVC-cached,
so DVC can restore the stage from its run-cache); :mod:`latentlab.report.publish` (stage
``publish``) copies them to ``reports/``, which git tracks. Imports run one way: the
builder imports the sections, never the reverse. Nothing here imports mlflow or
torch.
"""
