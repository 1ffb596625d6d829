"""LeadSquared: the HTTP client, its typed outcomes, the activities owed and look-up answers."""
