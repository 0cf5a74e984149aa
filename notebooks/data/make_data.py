"""Generate the small, realistic CSVs the notebooks analyse (deterministic: fixed seeds).

Origin: synthetic data written for this project (no third-party data), shaped like a small
online shop's order export, a website's daily traffic log and a support desk's ticket export.
Run: python notebooks/data/make_data.py
"""
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent


def sales(rng: np.random.Generator) -> pd.DataFrame:
    catalog = {
        "Electronics": [("Laptop", 899.0), ("Headphones", 129.0), ("Monitor", 249.0), ("Keyboard", 59.0)],
        "Furniture": [("Desk", 349.0), ("Office Chair", 219.0), ("Bookshelf", 139.0)],
        "Clothing": [("Jacket", 119.0), ("Sneakers", 89.0), ("T-Shirt", 19.0), ("Jeans", 59.0)],
    }
    weights = {"Electronics": 0.4, "Furniture": 0.25, "Clothing": 0.35}
    n = 1000
    cats = rng.choice(list(catalog), size=n, p=[weights[c] for c in catalog])
    rows = []
    dates = pd.to_datetime("2024-01-01") + pd.to_timedelta(np.sort(rng.integers(0, 366, size=n)), unit="D")
    for i, (cat, day) in enumerate(zip(cats, dates)):
        product, list_price = catalog[cat][rng.integers(len(catalog[cat]))]
        price = round(list_price * rng.choice([1.0, 1.0, 1.0, 0.9, 0.8]), 2)
        quantity = int(rng.choice([1, 1, 1, 2, 2, 3, 4]))
        rows.append({
            "order_id": f"SO-{10001 + i}",
            "date": day.strftime("%Y-%m-%d"),
            "category": cat,
            "product": product,
            "region": rng.choice(["North", "South", "East", "West"]),
            "price": price,
            "quantity": quantity,
            "revenue": round(price * quantity, 2),
        })
    return pd.DataFrame(rows)


def traffic(rng: np.random.Generator) -> pd.DataFrame:
    days = pd.date_range("2024-01-01", "2024-06-30", freq="D")
    rows = []
    for channel, base in [("organic", 1200), ("paid", 600), ("social", 450), ("email", 250)]:
        trend = np.linspace(1.0, 1.3 if channel != "social" else 0.9, len(days))
        weekly = np.where(days.day_of_week >= 5, 0.75, 1.05)
        sessions = rng.poisson(base * trend * weekly)
        conv_rate = {"organic": 0.021, "paid": 0.034, "social": 0.012, "email": 0.045}[channel]
        conversions = rng.binomial(sessions, conv_rate)
        for d, s, c in zip(days, sessions, conversions):
            rows.append({"date": d.strftime("%Y-%m-%d"), "channel": channel, "sessions": int(s),
                         "conversions": int(c), "bounce_rate": round(float(rng.normal(0.45, 0.05)), 3)})
    df = pd.DataFrame(rows)
    # A realistic gap: the analytics tag broke for three days on the paid channel.
    broken = (df["channel"] == "paid") & df["date"].isin(["2024-03-12", "2024-03-13", "2024-03-14"])
    df.loc[broken, ["sessions", "conversions"]] = np.nan
    return df


def tickets(rng: np.random.Generator) -> pd.DataFrame:
    n = 600
    opened = pd.to_datetime("2024-04-01") + pd.to_timedelta(rng.integers(0, 90 * 24, size=n), unit="h")
    priority = rng.choice(["low", "medium", "high", "urgent"], size=n, p=[0.35, 0.4, 0.2, 0.05])
    base_hours = {"low": 40, "medium": 24, "high": 10, "urgent": 3}
    hours = np.array([rng.gamma(2.0, base_hours[p] / 2.0) for p in priority]).round(1)
    rows = pd.DataFrame({
        "ticket_id": [f"T-{5000 + i}" for i in range(n)],
        "opened_at": opened.strftime("%Y-%m-%d %H:%M"),
        "priority": priority,
        "team": rng.choice(["billing", "technical", "account"], size=n, p=[0.3, 0.5, 0.2]),
        "resolution_hours": hours,
        "satisfaction": rng.choice([1, 2, 3, 4, 5], size=n, p=[0.05, 0.1, 0.2, 0.35, 0.3]).astype(float),
    })
    # Not every customer answers the survey.
    rows.loc[rng.random(n) < 0.25, "satisfaction"] = np.nan
    return rows


def main() -> None:
    sales(np.random.default_rng(7)).to_csv(HERE / "sales.csv", index=False)
    traffic(np.random.default_rng(11)).to_csv(HERE / "web_traffic.csv", index=False)
    tickets(np.random.default_rng(23)).to_csv(HERE / "support_tickets.csv", index=False)


if __name__ == "__main__":
    main()
