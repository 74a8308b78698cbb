"""latentlab: what representation learning does, measured.

The library behind the DVC stages in ``stages/``: data, models, losses, the
training loop, baselines, metrics, tracking and the report. Importing the
package imports nothing heavy; each stage imports only the modules it uses.
"""

__version__ = "0.1.0"
