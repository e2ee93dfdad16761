"""The dashboard's static files, shipped inside the package."""
