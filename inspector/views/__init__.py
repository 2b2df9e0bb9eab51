"""Views read the model and print or draw it; they never parse bytes themselves."""
