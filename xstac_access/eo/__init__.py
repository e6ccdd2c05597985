"""Earth-observation helpers behind the ``.eo`` accessor: gridding, geocoding, pictures, maps.

Each module is one concern and works on what the readers return, never on the network:
``grid`` (swath with 2-D lat/lon to a regular grid), ``geocode`` (GCPs to 2-D lat/lon),
``quicklook`` (pictures people want), ``footprint`` (footprint geometry and folium maps),
``stac`` (the item carried with the data).
``accessor`` registers ``.eo`` on Dataset, DataArray and DataTree.
"""
