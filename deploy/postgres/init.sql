-- Each service keeps its own database (each records its own schema migrations).
CREATE DATABASE master_data;
CREATE DATABASE cart;
