"""
=================================
Original PyTorch API: Quick Start
=================================

The training script of the original design, unchanged except for its imports,
followed by the design's save/load and inference snippets. It trains
:class:`~sklearn_samlp.SignalAccumulativeMLP` on hidden-regime streams from
:class:`~sklearn_samlp.StreamManager` and saves the model to
``models/signal_model_v1.pt`` under a folder of its own: the first argument, or
a new temporary folder (the design's path is relative to the working directory,
so the script changes to that folder first).
"""

# Authors: The sklearn_samlp developers
# SPDX-License-Identifier: Apache-2.0

# The design's lines are kept byte for byte, long lines and trailing spaces
# included.
# ruff: noqa: E501, W291

import torch
import torch.nn as nn
import torch.optim as optim

from sklearn_samlp import SignalAccumulativeMLP, StreamManager


def train(model, criterion, optimizer, train_loader, val_loader, n_epochs=10):
    for epoch in range(n_epochs):
        model.train()
        total_loss = 0.0
        correct, total = 0, 0

        for inputs, targets in train_loader:
            inputs, targets = inputs.to(model.device), targets.to(model.device)
            optimizer.zero_grad()
            outputs = model(inputs)
            loss = criterion(outputs, targets)
            loss.backward()
            optimizer.step()

            total_loss += loss.item() * inputs.shape[0]
            _, predicted = torch.max(outputs, dim=1)
            correct += (predicted == targets).sum().item()
            total += targets.size(0)

        avg_loss = total_loss / (len(train_loader.dataset))
        accuracy = correct / total
        print(f"Epoch [{epoch+1}/{n_epochs}] | Train Loss: {avg_loss:.4f} | Train Acc: {accuracy:.2%}")

        # Validation step
        validate(model, criterion, val_loader)

def validate(model, criterion, val_loader):
    model.eval()
    total_loss = 0.0
    correct, total = 0, 0

    with torch.no_grad():
        for inputs, targets in val_loader:
            inputs, targets = inputs.to(model.device), targets.to(model.device)
            outputs = model(inputs)
            loss = criterion(outputs, targets)
            total_loss += loss.item() * inputs.shape[0]
            _, predicted = torch.max(outputs, dim=1)
            correct += (predicted == targets).sum().item()
            total += targets.size(0)

    avg_loss = total_loss / (len(val_loader.dataset))
    accuracy = correct / total
    print(f"Validation Loss: {avg_loss:.4f} | Validation Acc: {accuracy:.2%}")

def main():
    # Instantiate StreamManager
    stream_manager = StreamManager()

    # Generate training data
    x_train, y_train = stream_manager.get_torch_batches(
        num_streams=4, 
        sequence_length=200
    )
    train_loader = stream_manager.load_data(4, x_train, y_train)

    # Generate validation data
    x_val, y_val = stream_manager.get_torch_batches(
        num_streams=4, 
        sequence_length=50
    )
    val_loader = stream_manager.load_data(4, x_val, y_val)

    # Initialize the model
    model = SignalAccumulativeMLP(
        vocab_size=stream_manager.get_vocab_size(),
        num_streams=4,
        accumulator_decay=0.9
    )

    # Setup loss and optimizer
    criterion = nn.CrossEntropyLoss()
    optimizer = optim.Adam(model.parameters(), lr=0.001)

    # Move to GPU if available
    model.device = torch.device('cuda' if torch.cuda.is_available() else 'cpu')
    model.to(model.device)

    # Start training
    train(model, criterion, optimizer, train_loader, val_loader, n_epochs=10)

    # --- Saving and Loading Models (design, unchanged) ---
    # Saving the model
    model.save_model("models/signal_model_v1.pt")

    # Loading the model
    loaded_model = SignalAccumulativeMLP.load_model("models/signal_model_v1.pt", device="cpu")
    loaded_model.eval()

    # --- Inference (design, unchanged) ---
    # Reset accumulators before each new sequence
    loaded_model.reset_accumulators()

    # Your new data, shaped [batch_size, vocab_size]
    new_signal_batch = torch.randn(4, loaded_model.input_size).to(loaded_model.device)

    with torch.no_grad():
        outputs = loaded_model(new_signal_batch)
        _, predictions = torch.max(outputs, dim=1)

    print("Predictions:", predictions)

if __name__ == '__main__':
    # The design saves to ``models/`` under the working directory: run it in
    # a folder of its own, the first argument or a new temporary folder.
    import os
    import sys
    import tempfile

    folder = sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="samlp_")
    os.makedirs(folder, exist_ok=True)
    os.chdir(folder)
    print(f"Writing models/ under {folder}")
    main()
