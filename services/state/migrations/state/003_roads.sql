-- Issue 18: with a road network an offer keeps its route's length (docs/PROTOCOL.md §Roads: road_m).
ALTER TABLE dispatch_offers ADD COLUMN road_m REAL;
