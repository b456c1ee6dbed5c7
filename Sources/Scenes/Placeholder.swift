// Renderer goes here.
