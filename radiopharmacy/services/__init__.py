"""Services: every write of a regulated record goes through a function here (<entity>_<action>)."""
