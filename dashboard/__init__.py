"""The Streamlit dashboard over a run store: runs, contests, trade-offs, drift case studies, probe validation, memory.

`app.py` is the entry point (`agora dashboard`), one script per page in `views/`, reads in `data.py`, figures in
`charts.py`. It only reads the store.
"""
