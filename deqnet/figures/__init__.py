"""Plotly figure builders: arrays and analysis dataclasses in, ``go.Figure`` out (no Streamlit).

style (class colours, layout), boundary (decision boundary), curves (loss and accuracy), fields
(quiver of a vector field and arrows), paths (hidden-state paths in 2-D and 3-D), animation (the
flow as a client-side movie) and volume (divergence and volume change) are re-exported here. The
page-sized topics are imported by module: depth, identity and topology (layers against time),
momentum, trajectories, sweep and live (the Playground's in-place updates).
"""

from deqnet.figures.animation import flow_animation_figure
from deqnet.figures.boundary import boundary_figure
from deqnet.figures.curves import curves_figure
from deqnet.figures.fields import quiver_trace
from deqnet.figures.paths import (
    coordinates_figure,
    features_3d_figure,
    paths_3d_figure,
    paths_figure,
    paths_preview_figure,
)
from deqnet.figures.style import (
    CLASS_COLORS,
    PROJECTOR_FONT,
    base_layout,
    class_color,
    class_colorscale,
    f32,
    plane_axes,
)
from deqnet.figures.volume import volume_figure

__all__ = [
    "CLASS_COLORS",
    "PROJECTOR_FONT",
    "base_layout",
    "boundary_figure",
    "class_color",
    "class_colorscale",
    "coordinates_figure",
    "curves_figure",
    "f32",
    "features_3d_figure",
    "flow_animation_figure",
    "paths_3d_figure",
    "paths_figure",
    "paths_preview_figure",
    "plane_axes",
    "quiver_trace",
    "volume_figure",
]
