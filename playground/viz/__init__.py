"""Pure plotting and image functions for the app: frame strips and patch grids, attention heatmaps and rollout,
latent grids and PCA. Arrays in, uint8 images or Plotly figures out; no Gradio, no model state."""
