"""Live operations on running cycles (HR's admin actions): move, withdraw, delegate and complete-on-behalf tasks,
reopen steps, cancel instances, add people, carry org changes into running reviews, migrate instances to a new
diagram version and replay a cycle against another. Each change to an instance is a step handed to the core
transaction (engine/process/kernel.py) and audited with who, why, before and after."""
