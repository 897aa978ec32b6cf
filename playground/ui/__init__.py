"""The Gradio app: one module per tab (generate, worldsim, patches, attention, latents, probes), the per-session
state (`session`), input checking at the boundary (`inputs`) and the assembly (`app.build_demo`)."""
