"""What the plot scripts in results/scripts share (imported from beside them)."""


def save(fig, axes, out: str, xlabel: str, **legend) -> None:
  """Labels every panel's x axis, adds legends (with `legend` as keyword
  arguments, e.g. fontsize=8) where lines are labelled, and writes the
  figure."""
  for ax in axes:
    ax.set_xlabel(xlabel)
    if ax.get_legend_handles_labels()[0]:
      ax.legend(**legend)
  fig.tight_layout()
  fig.savefig(out, dpi=90)
