"""The Streamlit dashboard: pages and components. The only package that imports streamlit."""
