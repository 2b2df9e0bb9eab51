"""Teaching the four gRPC call styles with real traffic: lessons, notes on each frame, diagrams."""
