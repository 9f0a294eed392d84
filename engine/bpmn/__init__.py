"""The only package that imports SpiffWorkflow: parse and check diagrams (bpmn_check, dmn_check), run and
serialise workflows (spiff), and run authors' code in restricted, capped worker processes (sandbox)."""
