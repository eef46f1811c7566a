"""A WSGI app whose endpoint makes ``SQL_APP_QUERIES`` SQLAlchemy queries (sqlite in memory)."""

from __future__ import annotations

import os

from flask import Flask
from sqlalchemy import Integer, String, create_engine, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
from sqlalchemy.pool import StaticPool

QUERIES = int(os.environ.get("SQL_APP_QUERIES", "3"))

# One connection shared by every session, so the in-memory database lives as long as the app.
engine = create_engine("sqlite://", poolclass=StaticPool)


class Base(DeclarativeBase):
    pass


class Product(Base):
    __tablename__ = "products"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(50))


Base.metadata.create_all(engine)
with Session(engine) as setup:
    setup.add_all(Product(name=f"product {number}") for number in range(1, 21))
    setup.commit()

app = Flask(__name__)


@app.get("/products")
def products() -> dict[str, list[str]]:
    names = []
    with Session(engine) as session:
        for number in range(1, QUERIES + 1):
            names.append(session.scalars(select(Product.name).where(Product.id == number)).one())
    return {"names": names}
