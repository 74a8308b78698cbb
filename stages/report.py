"""Stage `report`: render reports/report.html, report.md and figures/ from every stage's outputs."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from latentlab import params
from latentlab.cli import run_stage
from latentlab.report.build import ReportPaths, build_report, load_inputs, method_path
from latentlab.report.sections_verdict import verdict_summary_lines
from latentlab.tracking.stage_run import track_stage


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--source", required=True, type=Path, help="data/raw/source.json")
    ap.add_argument("--data", required=True, type=Path, help="the preprocess stage's splits (.npz)")
    ap.add_argument("--meta", type=Path, default=None,
                    help="the preprocess stage's record (data/processed/meta.json): "
                         "binarisation, test split, caps")
    ap.add_argument("--codes", required=True, nargs="+", type=method_path, metavar="METHOD=PATH",
                    help="codes.npz of each of pca, tsne, ae, dae, vae")
    ap.add_argument("--train-metrics", required=True, nargs="+", type=method_path,
                    metavar="MODEL=PATH", help="metrics JSON of each of ae, dae, vae")
    ap.add_argument("--curves", required=True, nargs="+", type=method_path,
                    metavar="MODEL=PATH", help="per-epoch CSV of each of ae, dae, vae")
    ap.add_argument("--baseline-metrics", required=True, nargs="+", type=method_path,
                    metavar="METHOD=PATH", help="metrics JSON of pca and tsne")
    ap.add_argument("--latent-stats", required=True, type=Path, help="the comparison table JSON")
    ap.add_argument("--verdict", required=True, type=Path,
                    help="best, tied or not ranked per criterion, from paired intervals (JSON)")
    ap.add_argument("--moments", required=True, type=Path, help="per-dimension moments (CSV)")
    ap.add_argument("--embeddings-dir", required=True, type=Path, help="<method>.csv, 2-D")
    ap.add_argument("--evaluate-metrics", required=True, type=Path,
                    help="the evaluate stage's JSON: log p(x), ELBO_K and their gap")
    ap.add_argument("--walks", required=True, type=Path, help="decoded interpolations (.npz)")
    ap.add_argument("--kl-per-dim", required=True, type=Path, help="the VAE's KL per dim (CSV)")
    ap.add_argument("--dae-sweep-scores", required=True, type=Path,
                    help="scores per corruption level and the best level (JSON)")
    ap.add_argument("--dae-sweep-plot", required=True, type=Path,
                    help="scores per corruption level (CSV)")
    ap.add_argument("--link", required=True, help="link file (stage, params hash, data sha256) "
                    "that traces these outputs to their MLflow run")
    ap.add_argument("--params", default=params.DEFAULT_PARAMS_FILE, type=Path)
    ap.add_argument("--out-dir", default=Path("reports"), type=Path)
    args = ap.parse_args(argv)

    p = params.load("report", args.params)
    paths = ReportPaths(
        source=args.source, data=args.data, codes=dict(args.codes),
        train_metrics=dict(args.train_metrics), curves=dict(args.curves),
        baseline_metrics=dict(args.baseline_metrics), latent_stats=args.latent_stats,
        verdict=args.verdict, moments=args.moments,
        embeddings_dir=args.embeddings_dir, params=args.params, evaluate=args.evaluate_metrics,
        walks=args.walks, kl_per_dim=args.kl_per_dim, dae_sweep_scores=args.dae_sweep_scores,
        dae_sweep_plot=args.dae_sweep_plot, meta=args.meta)
    with tempfile.TemporaryDirectory() as scratch, track_stage(
            "report", p, "report", data=args.data, params_file=args.params,
            link=args.link) as run:
        inputs = load_inputs(paths)
        build_report(inputs, args.out_dir, p.n_examples)
        summary = verdict_summary_lines(inputs)
        verdict_text = Path(scratch) / "verdict.txt"  # the report's first section, as text
        verdict_text.write_text("\n".join(summary) + "\n")
        for to_parent in (False, True):  # the parent run carries the pipeline's report too
            for name in ("report.html", "report.md"):
                run.log_artifact(args.out_dir / name, "report", to_parent=to_parent)
            run.log_artifacts(args.out_dir / "figures", "report/figures", to_parent=to_parent)
            run.log_artifact(verdict_text, "report", to_parent=to_parent)
            run.log_artifact(args.verdict, "report", to_parent=to_parent)
        run.log_comparison(args.latent_stats)
    print(f"report: wrote {args.out_dir / 'report.html'} and {args.out_dir / 'report.md'}")
    print("report: verdict\n" + "\n".join(f"  {line}" for line in summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(run_stage(main))
