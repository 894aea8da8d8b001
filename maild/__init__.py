"""maild: the Tegami mail daemon. Reads only its config bundle; never imports flask or panel."""
