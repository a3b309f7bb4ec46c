"""FHIR R4 hand-off to the hospital (SPEC §2.11), served under /fhir/r4/.

`resources` builds and reads the resources (validated with fhir.resources, FHIR 4.0.1),
`search` parses the search parameters, `views` are the thin HTTP edges, `urls` their routes.
"""
