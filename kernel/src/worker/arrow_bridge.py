# placeholder until the helper lands the real module
