"""What the plot scripts in results/ share (imported from beside them)."""


def save(fig, axes, out: str, xlabel: str) -> None:
  """Labels every panel's x axis, adds legends where lines are labelled,
  and writes the figure."""
  for ax in axes:
    ax.set_xlabel(xlabel)
    if ax.get_legend_handles_labels()[0]:
      ax.legend()
  fig.tight_layout()
  fig.savefig(out, dpi=90)
