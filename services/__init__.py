"""The services of the item-master link: master-data and cart."""
