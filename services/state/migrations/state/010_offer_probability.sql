-- Issue 18 item 5 (FC_OFFER_POLICY=probability): each offer keeps the probability it was sent at,
-- P(someone on scene within the circle's limit after the alarm) with the offers then open; null
-- under the fixed policy. The KPI compares it with what happened.
ALTER TABLE dispatch_offers ADD COLUMN probability REAL;
