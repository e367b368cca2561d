"""Audio to speaker embedding: the front end every input goes through (frontend.py) and the model backends."""
